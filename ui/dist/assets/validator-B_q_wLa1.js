import{T as i}from"./index-DiccUUPO.js";const n=o=>["",...i].includes(o);export{n as i};
