import{$ as i}from"./index-Dwt4QvNw.js";const n=o=>["",...i].includes(o);export{n as i};
