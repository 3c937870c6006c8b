import{T as i}from"./index-CpYTf5Cm.js";const n=o=>["",...i].includes(o);export{n as i};
