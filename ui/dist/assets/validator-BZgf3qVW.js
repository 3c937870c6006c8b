import{$ as i}from"./index-BxNv_0mS.js";const n=o=>["",...i].includes(o);export{n as i};
